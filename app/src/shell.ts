/** What every workspace is given of the app's state: the config that was opened and the air-gap status. */
import type { AirGapView, ConfigView } from '../../main/ipc-contract.js';

export interface Shell {
  config: ConfigView | null;
  airGap: AirGapView | null;
}
