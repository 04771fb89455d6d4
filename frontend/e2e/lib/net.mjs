// Network helpers shared by the e2e scripts.
import net from 'node:net';

/** freePort asks the OS for a free loopback TCP port. */
export function freePort() {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => res(port));
    });
  });
}
