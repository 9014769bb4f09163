/**
 * electron-builder.yml: valid for electron-builder's own schema, asar on with pkcs11js unpacked, Linux
 * AppImage and deb, and the release fuses that keep the app from being turned into a Node or a debugger.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const FILE = fileURLToPath(new URL('../../../electron-builder.yml', import.meta.url));
// electron-builder's own YAML reader and schema validator (its dependencies, not ours).
const fromBuilder = createRequire(createRequire(import.meta.url).resolve('app-builder-lib'));
const yaml = fromBuilder('js-yaml') as { load(text: string): Record<string, unknown> };
const { validateConfiguration } = fromBuilder('./util/config/config.js') as { validateConfiguration(c: unknown, l: unknown): Promise<void> };
const { DebugLogger } = fromBuilder('builder-util') as { DebugLogger: new (enabled: boolean) => unknown };
const config = yaml.load(readFileSync(FILE, 'utf8'));

describe('electron-builder.yml', () => {
  it("passes electron-builder's schema", async () => {
    await expect(validateConfiguration(config, new DebugLogger(false))).resolves.toBeUndefined();
  });

  it('packs into an asar with the native PKCS#11 addon rebuilt and unpacked', () => {
    expect(config.asar).toBe(true);
    expect(config.npmRebuild).toBe(true);
    expect(config.asarUnpack).toEqual(expect.arrayContaining(['node_modules/pkcs11js/**/*', '**/*.node']));
  });

  it('builds a Linux AppImage and deb', () => {
    expect((config.linux as { target: string[] }).target).toEqual(['AppImage', 'deb']);
  });

  it('sets the release fuses: no RunAsNode, NODE_OPTIONS or inspect; asar integrity and asar-only loading on', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('ships the compiled code and the built renderer, no sources or maps', () => {
    const files = config.files as string[];
    expect(files).toEqual(expect.arrayContaining(['dist/main/**/*.js', 'dist/main/**/*.cjs', 'dist-app/**/*', '!**/*.map']));
    expect(files.some((f) => /\.tsx?$|^app\/|^main\//.test(f))).toBe(false);
  });
});
