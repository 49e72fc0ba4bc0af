import unittest

from app import route


class RouteTest(unittest.TestCase):
    def test_health(self):
        self.assertEqual(route("/health"), (200, {"status": "ok"}))

    def test_ping(self):
        self.assertEqual(route("/ping"), (200, {"message": "pong"}))

    def test_version(self):
        status, body = route("/version")
        self.assertEqual(status, 200)
        self.assertIn("version", body)

    def test_unknown(self):
        self.assertEqual(route("/nope")[0], 404)


if __name__ == "__main__":
    unittest.main()
