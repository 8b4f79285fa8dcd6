/**
 * `--cacert FILE`: the CA certificates a TLS server's certificate must chain to, for `check` and `record`
 * alike.
 */
import { readFile } from 'node:fs/promises';
import { UsageError } from './errors.js';

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]*-----END CERTIFICATE-----/g;

/**
 * The CA file's certificates. Node would take a file without any (a key, a DER file, a typo'd path to
 * some other file) and then reject every server "unable to verify": refuse it up front instead.
 */
export async function readCaFile(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`--cacert ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const blocks = bytes.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    throw new UsageError(
      `--cacert ${path}: no certificate in it (a PEM file of '-----BEGIN CERTIFICATE-----' blocks is needed)`,
    );
  }
  const { X509Certificate } = await import('node:crypto');
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new UsageError(
        `--cacert ${path}: certificate ${i + 1} cannot be read: ${(err as Error).message}`,
      );
    }
  }
  return bytes;
}
