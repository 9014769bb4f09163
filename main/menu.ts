/**
 * A minimal menu: quit, the edit commands (so copy/paste of shares and keyboard editing work), zoom for
 * reading fingerprints aloud, and — only in development — reload and developer tools. No help links: the
 * app never opens remote content.
 */
import type { MenuItemConstructorOptions } from 'electron';

export function menuTemplate(opts: { development: boolean }): MenuItemConstructorOptions[] {
  return [
    { label: 'Ceremony', submenu: [{ role: 'quit' }] },
    { role: 'editMenu' },
    {
      label: 'View',
      submenu: [
        { role: 'resetZoom' },
        { role: 'zoomIn' },
        { role: 'zoomOut' },
        ...(opts.development ? ([{ type: 'separator' }, { role: 'reload' }, { role: 'toggleDevTools' }] as MenuItemConstructorOptions[]) : []),
      ],
    },
  ];
}
