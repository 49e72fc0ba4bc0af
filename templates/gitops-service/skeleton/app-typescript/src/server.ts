import http from 'node:http';
import { route } from './routes';

const version = process.env.APP_VERSION ?? 'dev';
const port = Number(process.env.PORT ?? 8080);

http
  .createServer((req, res) => {
    const { status, body } = route(
      new URL(req.url ?? '/', 'http://localhost').pathname,
      version,
    );
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  })
  .listen(port, () => console.log(`listening on :${port}`));
