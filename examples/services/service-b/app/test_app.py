import unittest

from app import route


class RouteTest(unittest.TestCase):
    def test_ping_service_a(self):
        status, body = route("/ping_service_a", fetch=lambda url: {"message": "pong"})
        self.assertEqual(status, 200)
        self.assertEqual(body, {"message": "pong (via Service B)"})

    def test_service_a_down(self):
        def down(url):
            raise OSError("connection refused")

        status, body = route("/ping_service_a", fetch=down)
        self.assertEqual(status, 502)
        self.assertIn("service-a unreachable", body["error"])

    def test_health(self):
        self.assertEqual(route("/health"), (200, {"status": "ok"}))


if __name__ == "__main__":
    unittest.main()
