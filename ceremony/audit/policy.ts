/**
 * The policy half of a review (DESIGN §3, Review): rules about what the ceremony did, checked on the
 * events that parsed. Each rule gives one PolicyCheck (shown in the report) and a finding per breach.
 */
import type { CeremonyKind, CeremonyParameters, NumberedEvent } from './events.js';
import { finding, type Finding, type PolicyCheck } from './findings.js';
import { buildersAgreedBeforeSigning, provenanceCheckedBeforeSigning } from './agreement-policy.js';

/** Steps that use a private key, whose validity window must contain the event's time. */
const KEY_USE_STEPS = new Set(['sign', 'sign-transition', 'bind-subkey']);

export function checkPolicy(events: NumberedEvent[], kind: CeremonyKind | undefined, parameters: CeremonyParameters | undefined): { checks: PolicyCheck[]; findings: Finding[] } {
  const findings: Finding[] = [];
  const checks: PolicyCheck[] = [
    inputsVerifiedBeforeSigning(events, kind, parameters, findings),
    quorumBeforeRootLogin(events, kind, parameters, findings),
    keysValidWhenUsed(events, findings),
    nothingAfterFailure(events, findings),
    airGap(parameters, findings),
    buildersAgreedBeforeSigning(events, parameters, findings),
    provenanceCheckedBeforeSigning(events, parameters, findings),
  ];
  return { checks, findings };
}

/**
 * Every input is verified ('verify-input' ok, same SHA-256) before any 'sign' that uses it, unless the
 * operator signed a payload unverified with --allow-unverified: then it is a recorded override (a note
 * and a warning, like --allow-network), not a breach.
 */
function inputsVerifiedBeforeSigning(events: NumberedEvent[], kind: CeremonyKind | undefined, parameters: CeremonyParameters | undefined, findings: Finding[]): PolicyCheck {
  const title = 'every input verified before any signature';
  const overridden = kind === 'payload-sign' && (parameters?.overrides ?? []).includes('allow-unverified');
  const verified = new Set<string>();
  let signs = 0;
  let bad = 0;
  let unverified = 0;
  for (const { line, event } of events) {
    if (event.step === 'verify-input' && event.result === 'ok') {
      for (const i of event.inputs ?? []) verified.add(i.sha256);
    }
    if (event.step !== 'sign' || event.result !== 'ok') continue;
    signs++;
    const inputs = event.inputs ?? [];
    if (inputs.length === 0 && (kind === 'sign' || kind === 'payload-sign')) {
      bad++;
      findings.push(finding('policy-sign-before-verify', `line ${line}: a signature was made without naming the inputs it signed`, line));
    }
    for (const i of inputs) {
      if (!verified.has(i.sha256) && overridden) {
        unverified++;
        findings.push(finding('unverified-override', `line ${line}: ${i.name} (sha256 ${i.sha256.slice(0, 16)}…) was signed without a verified server signature, overridden with --allow-unverified`, line));
      } else if (!verified.has(i.sha256)) {
        bad++;
        findings.push(finding('policy-sign-before-verify', `line ${line}: ${i.name} (sha256 ${i.sha256.slice(0, 16)}…) was signed before it was verified`, line));
      }
    }
  }
  if (signs === 0) return { name: 'inputs-verified-before-signing', title, outcome: 'not-applicable', detail: 'no signature was made' };
  if (bad === 0 && unverified > 0) {
    return { name: 'inputs-verified-before-signing', title, outcome: 'warning', detail: `${unverified} input(s) signed unverified, --allow-unverified recorded` };
  }
  return bad === 0
    ? { name: 'inputs-verified-before-signing', title, outcome: 'pass', detail: `${signs} signing step(s), every input verified first` }
    : { name: 'inputs-verified-before-signing', title, outcome: 'fail', detail: `${bad} input(s) signed without prior verification` };
}

/** At a renewal or a backup, k distinct custodians' shares (distinct indices) are accepted before the root login. */
function quorumBeforeRootLogin(events: NumberedEvent[], kind: CeremonyKind | undefined, parameters: CeremonyParameters | undefined, findings: Finding[]): PolicyCheck {
  const title = 'k distinct custodians before the root key was unlocked';
  const name = 'quorum-before-root-login';
  if (kind !== 'renew' && kind !== 'backup') return { name, title, outcome: 'not-applicable', detail: 'not a renewal or a backup' };
  const login = events.find((e) => e.event.step === 'root-login' && e.event.result === 'ok');
  if (!login) return { name, title, outcome: 'not-applicable', detail: 'the root token was not logged into' };
  // The k that unlocks the root token is the quorum IN FORCE (line 1's parameters.quorum); a
  // 'quorum-session' event states the NEW quorum being set up, so it is only a last resort.
  const before = events.filter((e) => e.line < login.line);
  const threshold =
    parameters?.quorum?.threshold ??
    before.find((e) => e.event.step === 'quorum-reached' && e.event.quorum)?.event.quorum?.threshold ??
    before.find((e) => e.event.step === 'quorum-session' && e.event.quorum)?.event.quorum?.threshold;
  const names = new Set<string>();
  const indices = new Set<number>();
  for (const { line, event } of events) {
    if (line > login.line) break;
    if (event.step !== 'share-accepted' || event.result !== 'ok') continue;
    if (event.actor.role === 'custodian' && event.actor.name) names.add(event.actor.name);
    if (event.share) indices.add(event.share.index);
  }
  if (threshold === undefined) {
    findings.push(finding('policy-quorum-not-met', `line ${login.line}: the root token was logged into but the record never states the quorum threshold`, login.line));
    return { name, title, outcome: 'fail', detail: 'threshold not recorded' };
  }
  const have = Math.min(names.size, indices.size);
  if (have < threshold) {
    findings.push(
      finding(
        'policy-quorum-not-met',
        `line ${login.line}: the root token was logged into after ${names.size} distinct custodian(s) and ${indices.size} distinct share(s), fewer than the threshold ${threshold}`,
        login.line,
      ),
    );
    return { name, title, outcome: 'fail', detail: `${have} of ${threshold}` };
  }
  return { name, title, outcome: 'pass', detail: `${names.size} distinct custodians (${[...names].join(', ')}), threshold ${threshold}` };
}

/** A key is used only inside its validity window (CKA_START_DATE..CKA_END_DATE, OpenPGP expiry). */
function keysValidWhenUsed(events: NumberedEvent[], findings: Finding[]): PolicyCheck {
  const title = 'keys valid when used';
  const name = 'keys-valid-when-used';
  let uses = 0;
  let bad = 0;
  for (const { line, event } of events) {
    if (!KEY_USE_STEPS.has(event.step) || event.result !== 'ok') continue;
    uses++;
    const k = event.key;
    if (!k || (!k.fingerprint && !k.uri)) {
      // A 'sign' step must say which key signed; the root key's steps may leave it to the certificate.
      if (event.step === 'sign') {
        bad++;
        findings.push(finding('policy-key-unnamed', `line ${line}: step ${event.step} does not name the key it used`, line));
      }
      continue;
    }
    const t = Date.parse(event.time);
    const who = k.fingerprint ?? k.uri;
    if (k.validFrom && t < Date.parse(k.validFrom)) {
      bad++;
      findings.push(finding('policy-key-not-valid', `line ${line}: key ${who} was used at ${event.time}, before it became valid at ${k.validFrom}`, line));
    }
    if (k.validUntil && t > Date.parse(k.validUntil)) {
      bad++;
      findings.push(finding('policy-key-not-valid', `line ${line}: key ${who} was used at ${event.time}, after it expired at ${k.validUntil}`, line));
    }
  }
  if (uses === 0) return { name, title, outcome: 'not-applicable', detail: 'no key was used to sign' };
  return bad === 0 ? { name, title, outcome: 'pass', detail: `${uses} key use(s), each inside its validity window` } : { name, title, outcome: 'fail', detail: `${bad} problem(s)` };
}

/** After a step fails, the ceremony stops: only 'seal' and 'ceremony-end' may follow. */
function nothingAfterFailure(events: NumberedEvent[], findings: Finding[]): PolicyCheck {
  const title = 'nothing done after a failure';
  const name = 'nothing-after-failure';
  const failed = events.find((e) => e.event.result === 'failed' && e.event.step !== 'ceremony-end');
  if (!failed) return { name, title, outcome: 'not-applicable', detail: 'no step failed' };
  let bad = 0;
  for (const { line, event } of events) {
    if (line <= failed.line || event.step === 'seal' || event.step === 'ceremony-end') continue;
    bad++;
    findings.push(finding('policy-step-after-failure', `line ${line}: step ${event.step} ran after step ${failed.event.step} failed at line ${failed.line}`, line));
  }
  findings.push(finding('ceremony-failed', `the ceremony failed at step ${failed.event.step} (line ${failed.line}): ${failed.event.detail}`, failed.line));
  return bad === 0
    ? { name, title, outcome: 'pass', detail: `step ${failed.event.step} failed and the ceremony stopped there` }
    : { name, title, outcome: 'fail', detail: `${bad} step(s) after the failure of ${failed.event.step}` };
}

/** The machine was air-gapped, or the operator's override is on record (DESIGN §5). */
function airGap(parameters: CeremonyParameters | undefined, findings: Finding[]): PolicyCheck {
  const title = 'air-gapped, or the override recorded';
  const name = 'air-gap';
  if (!parameters) return { name, title, outcome: 'not-applicable', detail: 'no parameters recorded' };
  const { host, overrides } = parameters;
  if (host.airGapped) return { name, title, outcome: 'pass', detail: 'no network interface was up' };
  if (host.overridden && overrides.includes('allow-network')) {
    findings.push(finding('network-override', `the ceremony ran with network interface(s) ${host.interfacesUp.join(', ')} up, overridden with --allow-network`, 1));
    return { name, title, outcome: 'warning', detail: `networked (${host.interfacesUp.join(', ')}), --allow-network recorded` };
  }
  findings.push(finding('policy-network-not-overridden', `the ceremony ran with network interface(s) ${host.interfacesUp.join(', ')} up and no recorded override`, 1));
  return { name, title, outcome: 'fail', detail: 'networked without a recorded override' };
}
