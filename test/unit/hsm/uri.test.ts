import { describe, expect, it } from 'vitest';
import { formatPkcs11Uri, parsePkcs11Uri } from '../../../ceremony/hsm/uri.js';
import { isCeremonyError } from '../../../ceremony/errors.js';

// RFC 7512 §3 examples (the pin-value one is refused on purpose, see below).
const RFC_EXAMPLES = [
  'pkcs11:',
  'pkcs11:object=my-pubkey;type=public',
  'pkcs11:object=my-key;type=private?pin-source=file:/etc/token',
  'pkcs11:token=The%20Software%20PKCS%2311%20Softtoken;manufacturer=Snake%20Oil,%20Inc.;model=1.0;object=my-certificate;type=cert;id=%69%95%3E%5C%F4%BD%EC%91;serial=?pin-source=file:/etc/token_pin',
  'pkcs11:object=my-sign-key;type=private?module-name=mypkcs11',
  'pkcs11:object=my-sign-key;type=private?module-path=/mnt/libmypkcs11.so.1',
  'pkcs11:slot-description=Sun%20Metaslot',
  'pkcs11:library-manufacturer=Snake%20Oil,%20Inc.;library-description=Soft%20Token%20Library;library-version=1.23',
  'pkcs11:token=My%20token%25%20created%20by%20Joe;library-version=3;id=%01%02%03%Ba%dd%Ef%08;x-vend-aaa=value',
  'pkcs11:token=A%20name%20with%20a%20substring%20%25%3B;object=my-certificate;type=cert',
  'pkcs11:token=Name%20with%20a%20small%20A%20with%20acute:%20%C3%A1;object=my-certificate;type=cert',
  'pkcs11:token=my-token;object=my-certificate;type=cert;vendor-aaa=value-a?pin-source=file:/etc/token_pin&vendor-bbb=value-b',
];

describe('RFC 7512 PKCS#11 URIs', () => {
  it.each(RFC_EXAMPLES)('parses and round-trips %s', (text) => {
    const once = parsePkcs11Uri(text);
    const printed = formatPkcs11Uri(once);
    expect(parsePkcs11Uri(printed)).toEqual(once);
    expect(formatPkcs11Uri(parsePkcs11Uri(printed))).toBe(printed);
  });

  it('decodes percent-encoded values, including UTF-8 and reserved characters', () => {
    const u = parsePkcs11Uri(RFC_EXAMPLES[3]!);
    expect(u.token).toBe('The Software PKCS#11 Softtoken');
    expect(u.manufacturer).toBe('Snake Oil, Inc.');
    expect(u.id).toEqual(Buffer.from([0x69, 0x95, 0x3e, 0x5c, 0xf4, 0xbd, 0xec, 0x91]));
    expect(u.serial).toBe('');
    expect(u.type).toBe('cert');
    expect(u.pinSource).toBe('file:/etc/token_pin');
    expect(parsePkcs11Uri(RFC_EXAMPLES[10]!).token).toBe('Name with a small A with acute: á');
    expect(parsePkcs11Uri(RFC_EXAMPLES[9]!).token).toBe('A name with a substring %;');
    // hex digits of an escape are case-insensitive (RFC 3986 §2.1)
    expect(parsePkcs11Uri(RFC_EXAMPLES[8]!).id).toEqual(Buffer.from([1, 2, 3, 0xba, 0xdd, 0xef, 8]));
  });

  it('keeps vendor attributes and query attributes it does not interpret', () => {
    const u = parsePkcs11Uri(RFC_EXAMPLES[11]!);
    expect(u.extraPath).toEqual([['vendor-aaa', 'value-a']]);
    expect(u.extraQuery).toEqual([['vendor-bbb', 'value-b']]);
  });

  it('prints the id as percent-encoded bytes and escapes separators in values', () => {
    const text = formatPkcs11Uri({ token: 'a;b?c', object: 'k 1', id: Buffer.from([0, 255]), type: 'private', extraPath: [], extraQuery: [] });
    expect(text).toBe('pkcs11:token=a%3Bb%3Fc;object=k%201;id=%00%FF;type=private');
    expect(parsePkcs11Uri(text).token).toBe('a;b?c');
  });

  it('parses slot-id as a number', () => {
    expect(parsePkcs11Uri('pkcs11:slot-id=42').slotId).toBe(42);
  });

  it.each([
    ['not a pkcs11 uri', 'file:/etc/passwd'],
    ['a broken escape', 'pkcs11:token=%G1'],
    ['a repeated attribute', 'pkcs11:token=a;token=b'],
    ['an attribute without value separator', 'pkcs11:token'],
    ['an unknown object type', 'pkcs11:type=banana'],
    ['a non-numeric slot-id', 'pkcs11:slot-id=x'],
    ['a pin-source that is not a file', 'pkcs11:token=a?pin-source=|/bin/cat'],
  ])('refuses %s with BAD_URI', (_what, text) => {
    try {
      parsePkcs11Uri(text);
      expect.unreachable();
    } catch (e) {
      expect(isCeremonyError(e, 'BAD_URI')).toBe(true);
    }
  });

  it('refuses pin-value (PIN leaking into shell history), RFC 7512 example 7', () => {
    for (const text of [
      'pkcs11:token=Software%20PKCS%2311%20softtoken;manufacturer=Snake%20Oil,%20Inc.?pin-value=the-pin',
      'pkcs11:token=t;pin-value=1234',
      'pkcs11:token=t?PIN-VALUE=1234',
    ]) {
      try {
        parsePkcs11Uri(text);
        expect.unreachable();
      } catch (e) {
        expect(isCeremonyError(e, 'PIN_VALUE_REFUSED')).toBe(true);
        expect((e as Error).message).not.toContain('1234');
        expect((e as Error).message).not.toContain('the-pin');
      }
    }
  });
});
