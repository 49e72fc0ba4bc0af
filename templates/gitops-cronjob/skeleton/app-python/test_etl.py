import unittest

from etl import transform


class TransformTest(unittest.TestCase):
    def test_averages_per_sensor(self):
        rows = transform(
            [
                {"sensor": "b", "celsius": 10},
                {"sensor": "a", "celsius": 20},
                {"sensor": "a", "celsius": 21},
            ]
        )
        self.assertEqual(
            rows,
            [
                {"sensor": "a", "average_celsius": 20.5},
                {"sensor": "b", "average_celsius": 10.0},
            ],
        )

    def test_nothing_in_nothing_out(self):
        self.assertEqual(transform([]), [])


if __name__ == "__main__":
    unittest.main()
