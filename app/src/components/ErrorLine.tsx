import type { IpcError } from '../../../main/ipc-contract.js';

/** An error as the CLI prints it: its code, then one plain sentence. */
export function ErrorLine({ error }: { error: IpcError | null }) {
  if (!error) return null;
  return (
    <p className="error" role="alert" data-code={error.code}>
      <strong>error[{error.code}]</strong> {error.message}
    </p>
  );
}
