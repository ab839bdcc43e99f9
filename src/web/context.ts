/** What the API routes share: the store, the capture-summary cache, how the server runs. */

import type { StoreAccess } from './store-access.ts';
import type { CaptureSummaries } from './views.ts';

export interface ApiContext {
  store: StoreAccess;
  summaries: CaptureSummaries;
  /** True when this process also runs the recorder (serve --record). */
  recording: boolean;
}
