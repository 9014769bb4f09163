import type { SigningKeyView } from '../../../main/ipc-contract.js';
import { formatValidity } from '../format.js';
import { Fingerprint } from './Fingerprint.js';

/**
 * A key as people name it: its label first, what it is for, its fingerprint in groups for reading aloud,
 * its validity; the PKCS#11 URI (RFC 7512, percent-encoded) only on demand, for whoever types a `--key`.
 */
export function KeyCard({ keyView, fingerprintLabel }: { keyView: Pick<SigningKeyView, 'uri' | 'label' | 'fingerprint'> & Partial<SigningKeyView>; fingerprintLabel: string }) {
  return (
    <div className="key-card" data-key-label={keyView.label}>
      <p className="key-label">
        <strong>{keyView.label}</strong>
        {keyView.role ? <span className="key-role"> — {keyView.role}</span> : null}
      </p>
      <Fingerprint value={keyView.fingerprint} label={fingerprintLabel} />
      {keyView.validFrom ? <p className="key-validity">{formatValidity(keyView.validFrom, keyView.validUntil)}</p> : null}
      <details className="key-uri">
        <summary>PKCS#11 URI</summary>
        <code>{keyView.uri}</code>
      </details>
    </div>
  );
}
