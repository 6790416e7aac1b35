import unittest

from src.shop import find_product


class FindProductTest(unittest.TestCase):
    def test_known_product(self):
        self.assertEqual(find_product(1)["name"], "Anvil")

    def test_unknown_product(self):
        self.assertIsNone(find_product(99))


if __name__ == "__main__":
    unittest.main()
