# The seed's own stack: the Tornado article's greeting handler with PyJWT,
# made to verify Gatehouse's ES256 tokens (public key as PEM from
# BENCH_PUBLIC_KEY_FILE, iss/aud "gatehouse") and to strip the "Bearer "
# prefix the article forgot. No token: guest; an invalid one: 401.
import json
import logging
import os

import jwt
import tornado.ioloop
import tornado.web

with open(os.environ['BENCH_PUBLIC_KEY_FILE']) as f:
    PUBLIC_KEY = f.read()


class JWTAuthHandler(tornado.web.RequestHandler):
    def get_current_user(self):
        header = self.request.headers.get('Authorization')
        if not header:
            return None
        scheme, _, token = header.partition(' ')
        if scheme.lower() != 'bearer' or not token:
            raise tornado.web.HTTPError(401)
        try:
            decoded_token = jwt.decode(token, PUBLIC_KEY, algorithms=['ES256'],
                                       issuer='gatehouse', audience='gatehouse')
        except jwt.exceptions.InvalidTokenError:
            raise tornado.web.HTTPError(401)
        return decoded_token.get('sub')


class MainHandler(JWTAuthHandler):
    def get(self):
        user_id = self.current_user
        self.set_header('Content-Type', 'application/json')
        if user_id:
            self.write(json.dumps({'message': f'Hello, {user_id}!'}))
        else:
            self.write(json.dumps({'message': 'Hello, guest!'}))


def make_app():
    return tornado.web.Application([
        (r"/", MainHandler),
    ])


if __name__ == "__main__":
    logging.getLogger('tornado.access').setLevel(logging.ERROR)  # no line per 401
    port = int(os.environ.get('PORT', '8888'))
    app = make_app()
    app.listen(port, address='127.0.0.1')
    print(f'listening {port}', flush=True)
    tornado.ioloop.IOLoop.current().start()
