/**
 * Loading a PKCS#11 module (graphene-pk11 over pkcs11js) and turning its failures into CeremonyErrors
 * that keep their CKR_* name. One module per process: graphene and several modules' global state do
 * not mix well, and a ceremony only ever talks to one HSM vendor library.
 */
import { existsSync, statSync } from 'node:fs';
import type * as G from 'graphene-pk11';
import type * as P from 'pkcs11js';
import { pkcs11, graphene } from './native.js';
import { CeremonyError, type ErrorCode } from '../errors.js';
import type { Pkcs11Uri } from './uri.js';

export const SOFTHSM_DEFAULT_MODULE = '/usr/lib/softhsm/libsofthsm2.so';
const MODULE_NAME_DIRS = ['/usr/lib/x86_64-linux-gnu/pkcs11', '/usr/lib/aarch64-linux-gnu/pkcs11', '/usr/lib/pkcs11', '/usr/lib'];

export interface ModuleChoice {
  uri?: Pkcs11Uri;
  /** `--module PATH` */
  flag?: string;
  env?: NodeJS.ProcessEnv;
}

/** The module path, by precedence: URI module-path, URI module-name, --module, CEREMONY_PKCS11_MODULE, SoftHSM. */
export function resolveModulePath(choice: ModuleChoice = {}): string {
  const env = choice.env ?? process.env;
  if (choice.uri?.modulePath) return choice.uri.modulePath;
  if (choice.uri?.moduleName) {
    const name = choice.uri.moduleName;
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new CeremonyError('BAD_URI', `module-name "${name}" is not a plain library name`);
    for (const dir of MODULE_NAME_DIRS) {
      for (const file of [`${dir}/${name}.so`, `${dir}/${name}`]) if (existsSync(file)) return file;
    }
    throw new CeremonyError('MODULE_NOT_FOUND', `no PKCS#11 module named "${name}" was found in ${MODULE_NAME_DIRS.join(', ')}`);
  }
  if (choice.flag) return choice.flag;
  if (env.CEREMONY_PKCS11_MODULE) return env.CEREMONY_PKCS11_MODULE;
  return SOFTHSM_DEFAULT_MODULE;
}

const CKR_NAMES = new Map<number, string>();
for (const [name, value] of Object.entries(pkcs11)) {
  if (name.startsWith('CKR_') && typeof value === 'number' && !CKR_NAMES.has(value)) CKR_NAMES.set(value, name);
}
// PKCS#11 v2.40 codes pkcs11js does not define (it reports them as CKR_VENDOR_DEFINED:N).
const LATER_CKR: Record<number, string> = { 0x1b: 'CKR_ACTION_PROHIBITED', 0x1a0: 'CKR_PIN_TOO_WEAK', 0x1b0: 'CKR_PUBLIC_KEY_INVALID' };
for (const [code, name] of Object.entries(LATER_CKR)) if (!CKR_NAMES.has(Number(code))) CKR_NAMES.set(Number(code), name);

/** The CKR_* name of a PKCS#11 failure, or undefined if the error did not come from the module. */
export function ckrName(e: unknown): string | undefined {
  if (e instanceof pkcs11.Pkcs11Error) return CKR_NAMES.get(e.code) ?? `CKR_0x${e.code.toString(16)}`;
  if (e instanceof Error) {
    const vendor = /\bCKR_VENDOR_DEFINED:(\d+)\b/.exec(e.message);
    if (vendor && LATER_CKR[Number(vendor[1])]) return LATER_CKR[Number(vendor[1])];
    const m = /\b(CKR_[A-Z_]+)\b/.exec(e.message);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Wrap a PKCS#11 failure in a CeremonyError with a sentence a person understands and the CKR_* name
 * kept as the cause. `what` says what we were doing ("logging in to token 'signing'").
 */
export function pkcs11Failure(e: unknown, what: string, code: ErrorCode = 'HSM_FAILURE'): CeremonyError {
  if (e instanceof CeremonyError) return e;
  const ckr = ckrName(e);
  return new CeremonyError(code, `the HSM failed while ${what}${ckr ? ` (${ckr})` : ''}`, { cause: e, ckr });
}

export class Pkcs11Module {
  private constructor(
    readonly path: string,
    readonly graphene: G.Module,
  ) {}

  /** The raw pkcs11js binding, for the calls graphene gets wrong (date attributes). */
  get lib(): P.PKCS11 {
    return this.graphene.lib;
  }

  static load(path: string): Pkcs11Module {
    if (!existsSync(path)) {
      throw new CeremonyError('MODULE_NOT_FOUND', `the PKCS#11 module ${path} does not exist (set --module, module-path= or CEREMONY_PKCS11_MODULE)`);
    }
    if (!statSync(path).isFile()) throw new CeremonyError('MODULE_INVALID', `the PKCS#11 module path ${path} is not a file`);
    let mod: G.Module;
    try {
      mod = graphene.Module.load(path, 'ceremony');
    } catch (e) {
      throw new CeremonyError('MODULE_INVALID', `${path} is not a loadable PKCS#11 module`, { cause: e, ckr: ckrName(e) });
    }
    try {
      mod.initialize();
    } catch (e) {
      throw pkcs11Failure(e, `initializing the PKCS#11 module ${path}`, 'MODULE_INVALID');
    }
    return new Pkcs11Module(path, mod);
  }

  close(): void {
    try {
      this.graphene.finalize();
    } catch {
      // already finalized
    }
    try {
      this.graphene.close();
    } catch {
      // already closed
    }
  }
}

let current: Pkcs11Module | undefined;

/** The process's module, loaded once. Asking for a different module while one is loaded is refused. */
export function openModule(path: string): Pkcs11Module {
  if (current) {
    if (current.path === path) return current;
    throw new CeremonyError('USAGE', `this process already uses the PKCS#11 module ${current.path}; one module per process`);
  }
  current = Pkcs11Module.load(path);
  return current;
}

/** Finalize and unload the process's module (tests re-point SOFTHSM2_CONF between files). */
export function closeModule(): void {
  current?.close();
  current = undefined;
}
