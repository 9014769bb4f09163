/**
 * From a URI and the command's options to a token session, logged in when asked: the one path every
 * ceremony and command takes to the HSM.
 */
import { CeremonyError } from '../errors.js';
import { openModule, resolveModulePath } from './module.js';
import { choosePinSource, type PinSource } from './pin.js';
import { PinAttempts, TokenSession, findTokenSlot, type LoginEvents } from './token.js';
import { parsePkcs11Uri, type Pkcs11Uri } from './uri.js';

export interface ConnectOptions {
  /** `--module PATH` */
  module?: string;
  /** `--pin-file PATH` */
  pinFile?: string;
  env: NodeJS.ProcessEnv;
  stdin?: NodeJS.ReadStream;
  /** Shared across one ceremony: three wrong PINs in total stop it. */
  attempts?: PinAttempts;
  events?: LoginEvents;
  /** Log in as the user (needed to see and use private keys). */
  login: boolean;
  /** An explicit PIN source (derived PINs at a quorum ceremony). */
  pinSource?: PinSource;
  readWrite?: boolean;
}

export function parseUriArg(text: string | undefined, what: string): Pkcs11Uri {
  if (!text) throw new CeremonyError('USAGE', `${what} needs a PKCS#11 URI (pkcs11:token=...;object=...)`);
  return parsePkcs11Uri(text);
}

export async function connectToken(uri: Pkcs11Uri, opts: ConnectOptions): Promise<TokenSession> {
  if (uri.token === undefined && uri.serial === undefined && uri.slotId === undefined) {
    throw new CeremonyError('BAD_URI', 'the PKCS#11 URI must name the token (token=LABEL)');
  }
  const mod = openModule(resolveModulePath({ uri, flag: opts.module, env: opts.env }));
  const ts = TokenSession.open(mod, uri, opts.readWrite ?? true);
  if (opts.login) {
    try {
      const source = opts.pinSource ?? choosePinSource({ uri, pinFile: opts.pinFile, env: opts.env, stdin: opts.stdin });
      await ts.login(source, opts.attempts ?? new PinAttempts(), opts.events);
    } catch (e) {
      ts.close();
      throw e;
    }
  }
  return ts;
}

/**
 * Which token a URI names, as the module sees it. RFC 7512 lets one token be spelled many ways (label,
 * serial, model, manufacturer, module-path, slot-id), so two URIs name the same token exactly when they
 * resolve to the same slot and serial of the same module; comparing their text would not tell. Opens
 * no session and needs no PIN.
 */
export function resolveTokenIdentity(uri: Pkcs11Uri, opts: Pick<ConnectOptions, 'module' | 'env'>): string {
  const mod = openModule(resolveModulePath({ uri, flag: opts.module, env: opts.env }));
  const { info } = findTokenSlot(mod, uri);
  return JSON.stringify([mod.path, info.slotId, info.serial]);
}
