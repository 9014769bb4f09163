/**
 * The auditor's report: one self-contained HTML page rendered from a Review. Inline CSS only, no scripts,
 * no external resources (a Content-Security-Policy of default-src 'none' makes sure of it even if a
 * future edit slips), and every value that came from the record is HTML-escaped: the log is untrusted.
 */
import type { CeremonyEvent, FileRef } from './events.js';
import type { Review, Verdict } from './review.js';

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const e = escapeHtml;

const VERDICT_TEXT: Record<Verdict, string> = {
  intact: 'Intact',
  refused: 'Refused',
  'refused-unsealed': 'Refused — unsealed',
  incomplete: 'Incomplete',
  tampered: 'Tampered',
  'policy-violation': 'Policy violation',
};

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1200px;padding:0 1rem;color:#1b1f24;background:#fff}
h1{font-size:1.6rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de;padding-bottom:.25rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px;word-break:break-all}
.verdict{display:inline-block;padding:.4rem .9rem;border-radius:4px;font-weight:700;font-size:1.1rem;color:#fff}
.v-intact{background:#1a7f37}.v-refused{background:#0969da}.v-refused-unsealed{background:#8250df}.v-unpinned{background:#57606a}.v-incomplete{background:#9a6700}.v-tampered{background:#cf222e}.v-policy-violation{background:#bc4c00}
.r-ok,.o-pass,.s-match{color:#1a7f37}.r-failed,.o-fail,.c-tampered,.s-mismatch{color:#cf222e;font-weight:600}
.r-refused,.r-warning,.r-override,.o-warning,.c-policy{color:#bc4c00;font-weight:600}.c-incomplete{color:#9a6700;font-weight:600}
.muted,.o-not-applicable,.c-note,.s-absent{color:#57606a}dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem}dt{font-weight:600}dd{margin:0}
td.t{white-space:nowrap}@media print{body{margin:0}}
.timeline-wrap{overflow-x:auto;max-width:100%}#timeline{table-layout:fixed}#timeline td{overflow-wrap:anywhere}
#timeline col.n{width:3.2rem}#timeline col.time{width:11.5rem}#timeline col.step{width:8.5rem}#timeline col.actor{width:7rem}#timeline col.res{width:5rem}
`;

function fileList(files: FileRef[] | undefined): string {
  if (!files?.length) return '';
  return files.map((f) => `<div><span>${e(f.name)}</span> <code>${e(f.sha256)}</code>${f.size !== undefined ? ` <span class="muted">${e(f.size)} B</span>` : ''}</div>`).join('');
}

function keyCell(ev: CeremonyEvent): string {
  const k = ev.key;
  if (!k) return '';
  const parts = [
    k.fingerprint ? `<code>${e(k.fingerprint)}</code>` : '',
    k.uri ? `<div class="mono muted">${e(k.uri)}</div>` : '',
    k.label ? `<div>${e(k.label)}</div>` : '',
    k.validFrom || k.validUntil ? `<div class="muted">valid ${e(k.validFrom ?? '…')} – ${e(k.validUntil ?? '…')}</div>` : '',
  ];
  return parts.join('');
}

function actorText(a: CeremonyEvent['actor']): string {
  return a.name ? `${a.role}: ${a.name}` : a.role;
}

export function renderReport(review: Review, generatedAt: Date = new Date()): string {
  const rows: string[] = [];
  const p = review.parameters;
  rows.push(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">`);
  rows.push(`<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`);
  rows.push(`<meta name="viewport" content="width=device-width, initial-scale=1">`);
  rows.push(`<title>Ceremony record review – ${e(review.kind ?? 'unknown')} ${e(review.ceremonyId ?? '')}</title><style>${CSS}</style></head><body>`);
  rows.push(`<h1>Ceremony record review</h1>`);
  // Never a green "Intact" for a seal nobody pinned: whoever rewrites a record re-seals it with his own
  // key in keys/ (issue 12 item 11). The badge then says so and is grey. A refusal no seal key could
  // reach has a badge of its own (purple), neither the refused blue nor the incomplete amber.
  const badge = (review.verdict === 'intact' || review.verdict === 'refused') && !review.pinned ? 'unpinned' : review.verdict;
  const badgeText = `${VERDICT_TEXT[review.verdict]}${review.pinned || (review.verdict !== 'intact' && review.verdict !== 'refused') ? '' : ' (seal not pinned)'}`;
  rows.push(`<p><span class="verdict v-${e(badge)}" id="verdict" data-verdict="${e(review.verdict)}">${e(badgeText)}</span></p>`);
  rows.push(`<p id="summary">${e(review.summary)}</p>`);

  rows.push(`<h2>Ceremony</h2><dl>`);
  rows.push(`<dt>Record</dt><dd class="mono">${e(review.dir)}</dd>`);
  rows.push(`<dt>Ceremony ID</dt><dd class="mono">${e(review.ceremonyId ?? 'unknown')}</dd>`);
  rows.push(`<dt>Kind</dt><dd>${e(review.kind ?? 'unknown')}</dd>`);
  rows.push(`<dt>Outcome</dt><dd>${e(review.outcome)}${review.lastStep ? ` (last step: ${e(review.lastStep)})` : ''}</dd>`);
  rows.push(`<dt>Lines</dt><dd>${e(review.lineCount)} (${e(review.events.length)} valid events)</dd>`);
  if (p) {
    rows.push(`<dt>Command</dt><dd class="mono">${e(p.command)}</dd>`);
    rows.push(`<dt>Tool version</dt><dd>${e(p.toolVersion)}</dd>`);
    rows.push(`<dt>Attended</dt><dd>${p.attended ? 'yes (a person at the terminal)' : 'no (unattended run)'}</dd>`);
    rows.push(`<dt>Air gap</dt><dd>${p.host.airGapped ? 'no network interface up' : `networked: ${e(p.host.interfacesUp.join(', '))}${p.host.overridden ? ' (overridden with --allow-network)' : ''}`}</dd>`);
    rows.push(`<dt>Overrides</dt><dd>${p.overrides.length ? e(p.overrides.join(', ')) : 'none'}</dd>`);
    rows.push(
      `<dt>Options</dt><dd>${p.options.map((o) => `<div class="mono">--${e(o.name)} ${e(Array.isArray(o.value) ? o.value.join(' ') : o.value)}</div>`).join('') || 'none'}</dd>`,
    );
    if (p.quorum) rows.push(`<dt>Quorum</dt><dd>${e(p.quorum.threshold)} of ${e(p.quorum.total ?? '?')}</dd>`);
  }
  rows.push(`<dt>Report made</dt><dd>${e(generatedAt.toISOString())}</dd></dl>`);

  rows.push(`<h2>Seal</h2><dl>`);
  const s = review.seal;
  rows.push(`<dt>Seal</dt><dd>${!s.present ? `missing (log.jsonl.asc absent)${review.verdict === 'refused-unsealed' && review.unsealedBecause ? `: ${escapeHtml(review.unsealedBecause)}, so the record of this refusal could not be sealed` : ''}` : s.valid ? 'valid OpenPGP signature over log.jsonl' : '<span class="c-tampered">does not verify</span>'}</dd>`);
  // As GnuPG names it: the key that made the signature, then its certificate's primary key.
  if (s.signerFingerprint) rows.push(`<dt>Signed by</dt><dd>${s.signingKeyFingerprint && s.signingKeyFingerprint !== s.signerFingerprint ? `subkey <code>${e(s.signingKeyFingerprint)}</code>, primary key <code>${e(s.signerFingerprint)}</code>` : `key <code>${e(s.signerFingerprint)}</code>`}</dd>`);
  if (s.created) rows.push(`<dt>Sealed at</dt><dd>${e(s.created)}</dd>`);
  if (s.present && s.valid) rows.push(`<dt>Pinned</dt><dd>${s.pinned ? 'yes: by a certificate the auditor pinned' : 'no: checked only against the record\'s own keys/'}</dd>`);
  rows.push(`</dl>`);

  rows.push(`<h2>Policy checks</h2><table id="policy"><tr><th>Check</th><th>Outcome</th><th>Detail</th></tr>`);
  for (const c of review.policy) rows.push(`<tr><td>${e(c.title)}</td><td class="o-${e(c.outcome)}">${e(c.outcome)}</td><td>${e(c.detail)}</td></tr>`);
  rows.push(`</table>`);

  rows.push(`<h2>Findings (${e(review.findings.length)})</h2>`);
  if (review.findings.length === 0) rows.push(`<p>None.</p>`);
  else {
    rows.push(`<table id="findings"><tr><th>Finding</th><th>Class</th><th>Line</th><th>What</th></tr>`);
    for (const f of review.findings) rows.push(`<tr><td><code>${e(f.code)}</code></td><td class="c-${e(f.class)}">${e(f.class)}</td><td>${e(f.line ?? '')}</td><td>${e(f.message)}</td></tr>`);
    rows.push(`</table>`);
  }

  const people = new Map<string, { role: string; name: string; steps: Set<string> }>();
  for (const { event } of review.events) {
    const key = actorText(event.actor);
    const entry = people.get(key) ?? { role: event.actor.role, name: event.actor.name ?? '', steps: new Set<string>() };
    entry.steps.add(event.step);
    people.set(key, entry);
  }
  rows.push(`<h2>Participants</h2><table id="participants"><tr><th>Role</th><th>Name</th><th>Steps</th></tr>`);
  for (const a of people.values()) rows.push(`<tr><td>${e(a.role)}</td><td>${e(a.name || '—')}</td><td>${e([...a.steps].join(', '))}</td></tr>`);
  rows.push(`</table>`);

  rows.push(`<h2>Keys</h2><table id="keys"><tr><th>Certificate</th><th>Fingerprint</th><th>User IDs</th><th>Subkeys</th></tr>`);
  for (const k of review.keys) {
    rows.push(
      `<tr><td class="mono">${e(k.source)}</td><td><code>${e(k.fingerprint)}</code><div class="muted">created ${e(k.created)}${k.expires ? `, expires ${e(k.expires)}` : ''}</div></td><td>${k.userIds.map((u) => `<div>${e(u)}</div>`).join('')}</td><td>${k.subkeys.map((sk) => `<div><code>${e(sk.fingerprint)}</code>${sk.expires ? ` <span class="muted">expires ${e(sk.expires)}</span>` : ''}</div>`).join('')}</td></tr>`,
    );
  }
  rows.push(`</table>`);
  const used = new Map<string, string>();
  for (const { event } of review.events) {
    if (event.key) used.set(event.key.fingerprint ?? event.key.uri ?? '', keyCell(event));
  }
  if (used.size) {
    rows.push(`<p>Keys named in the log:</p><table id="keys-used"><tr><th>Key</th></tr>`);
    for (const cell of used.values()) rows.push(`<tr><td>${cell}</td></tr>`);
    rows.push(`</table>`);
  }

  rows.push(`<h2>Artifacts</h2>`);
  if (review.artifacts.length === 0) rows.push(`<p>${review.manifest ? 'The manifest lists no artifacts.' : 'No manifest.json (the record was not sealed).'}</p>`);
  else {
    rows.push(`<table id="artifacts"><tr><th>Role</th><th>Name</th><th>SHA-256</th><th>Size</th><th>Check</th></tr>`);
    for (const a of review.artifacts) {
      rows.push(
        `<tr><td>${e(a.artifact.role)}</td><td>${e(a.artifact.name)}<div class="mono muted">${e(a.lookedAt)}</div></td><td><code>${e(a.artifact.sha256)}</code></td><td>${e(a.artifact.size)}</td><td class="s-${e(a.status)}">${e(a.status)}</td></tr>`,
      );
    }
    rows.push(`</table>`);
  }

  rows.push(`<h2>Timeline</h2><div class="timeline-wrap"><table id="timeline"><colgroup><col class="n"><col class="n"><col class="time"><col class="step"><col class="actor"><col class="res"><col><col><col></colgroup><tr><th>Line</th><th>Seq</th><th>Time (UTC)</th><th>Step</th><th>Actor</th><th>Result</th><th>Detail</th><th>Key</th><th>Inputs / outputs</th></tr>`);
  for (const { line, event } of review.events) {
    const io = [event.inputs?.length ? `<div class="muted">in:</div>${fileList(event.inputs)}` : '', event.outputs?.length ? `<div class="muted">out:</div>${fileList(event.outputs)}` : ''].join('');
    const extra = [event.code ? `<div><code>${e(event.code)}</code></div>` : '', event.share ? `<div class="muted">share ${e(event.share.index)} of set ${e(event.share.setId)}</div>` : '', event.quorum ? `<div class="muted">quorum ${e(event.quorum.threshold)}${event.quorum.total ? ` of ${e(event.quorum.total)}` : ''}${event.quorum.sessionId ? `, session ${e(event.quorum.sessionId)}` : ''}</div>` : ''].join('');
    rows.push(
      `<tr><td>${e(line)}</td><td>${e(event.seq)}</td><td class="mono t">${e(event.time)}</td><td>${e(event.step)}</td><td>${e(actorText(event.actor))}</td><td class="r-${e(event.result)}">${e(event.result)}</td><td>${e(event.detail)}${extra}</td><td>${keyCell(event)}</td><td>${io}</td></tr>`,
    );
  }
  rows.push(`</table></div>`);
  rows.push(`<p class="muted">Checked by ceremony audit. The record format is described in docs/RECORD-FORMAT.md; an auditor can repeat these checks with sha256sum, gpg and a short script.</p>`);
  rows.push(`</body></html>\n`);
  return rows.join('\n');
}
