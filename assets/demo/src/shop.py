"""acme-shop: a tiny product catalogue served over HTTP."""

import json
from http.server import BaseHTTPRequestHandler, HTTPServer

PRODUCTS = [
    {"id": 1, "name": "Anvil", "price_cents": 4999},
    {"id": 2, "name": "Rocket skates", "price_cents": 12900},
    {"id": 3, "name": "Giant magnet", "price_cents": 2450},
]


def find_product(product_id):
    """Return the product with this id, or None."""
    return next((p for p in PRODUCTS if p["id"] == product_id), None)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/products":
            self._send(200, PRODUCTS)
        elif self.path.startswith("/products/") and self.path[10:].isdigit():
            product = find_product(int(self.path[10:]))
            self._send(200 if product else 404, product or {"error": "not found"})
        else:
            self._send(404, {"error": "not found"})

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    HTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
