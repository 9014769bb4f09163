import { useEffect, useState } from 'react';
import type { ProgressEvent } from '../../../main/ipc-contract.js';
import { api } from '../api.js';

/** Progress of the worker's current job, with a cancel button; the window stays responsive throughout. */
export function JobProgress({ running, onStep }: { running: boolean; onStep?(step: string): void }) {
  const [last, setLast] = useState<ProgressEvent | null>(null);
  useEffect(() => {
    if (!running) {
      setLast(null);
      return;
    }
    return api().onProgress((p) => {
      setLast(p);
      onStep?.(p.step);
    });
  }, [running, onStep]);
  if (!running) return null;
  return (
    <div className="progress" role="status" aria-live="polite">
      <progress max={last?.total || 1} value={last?.done ?? 0} />
      <span>{last ? `${last.label} (${last.done}/${last.total})` : 'Working…'}</span>
      <button type="button" disabled={!last} onClick={() => last && void api().jobCancel({ jobId: last.jobId })}>
        Cancel
      </button>
    </div>
  );
}
