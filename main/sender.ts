/**
 * Who may call the IPC handlers: only the app's own top-level frame, loaded from the app's origin
 * (Electron security checklist §17 "Validate the sender of all IPC messages"). An iframe, a frame that has
 * navigated elsewhere, or a frame that has gone away (senderFrame null) is refused.
 */
export interface SenderFrame {
  url: string;
  parent: unknown;
}
export interface IpcSender {
  senderFrame: SenderFrame | null;
  sender: { mainFrame: unknown };
}

export function isTrustedSender(event: IpcSender, origin: string): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null || frame !== event.sender.mainFrame) return false;
  try {
    const u = new URL(frame.url);
    return `${u.protocol}//${u.host}` === origin;
  } catch {
    return false;
  }
}
