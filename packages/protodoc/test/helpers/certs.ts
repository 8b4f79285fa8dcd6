/**
 * TLS certificates for tests, generated at setup with the `openssl` CLI into a temp dir (never
 * committed): a CA, and a server certificate it signed for `localhost` and 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  /** PEM of the CA that signed the server certificate. */
  ca: string;
  caPath: string;
  /** PEM of the server key and certificate (CN=localhost, SAN localhost + 127.0.0.1 + ::1). */
  key: string;
  cert: string;
  keyPath: string;
  certPath: string;
  /** Deletes the temp dir. */
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Generates a fresh CA and server certificate (EC P-256: fast to generate). */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'protodoc-certs-'));
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(dir, [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=protodoc test CA',
  ]);
  openssl(dir, ['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost']);
  writeFileSync(
    join(dir, 'ext.cnf'),
    'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  ]);
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8');
  return {
    dir,
    ca: read('ca.pem'),
    caPath: join(dir, 'ca.pem'),
    key: read('server.key'),
    cert: read('server.pem'),
    keyPath: join(dir, 'server.key'),
    certPath: join(dir, 'server.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
