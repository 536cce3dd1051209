/**
 * A local TCP port that leads, through an open SSH connection, to an address
 * the guest can reach (`direct-tcpip`, what `ssh -L` does, without the `ssh`
 * binary): how the host's skopeo reaches the registry on the controller's
 * cluster-network address, which the host itself has no route to. It listens
 * on 127.0.0.1 only, on a port the kernel picks (never a busy one).
 */
import { createServer, type Server, type Socket } from 'node:net';
import { PharosError } from '../errors.js';
import type { SshConnection } from '../tools/ssh.js';

export interface Tunnel {
  /** `127.0.0.1:<port>` */
  readonly local: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function openTunnel(conn: SshConnection, to: { host: string; port: number }): Promise<Tunnel> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.pause();
    conn.client.forwardOut('127.0.0.1', sock.remotePort ?? 0, to.host, to.port, (err, stream) => {
      if (err) {
        sock.destroy();
        return;
      }
      sock.pipe(stream).pipe(sock);
      stream.on('error', () => sock.destroy());
      sock.on('error', () => stream.destroy());
      sock.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(new PharosError(`cannot listen on 127.0.0.1 for a tunnel to ${to.host}:${to.port} via ${conn.label}: ${e.message}`)));
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    local: `127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
