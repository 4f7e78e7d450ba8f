// Entry of the inference pool's worker threads (see worker-pool.ts). A worker does not inherit the
// tsx loader of the main thread, so it registers one itself, then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./pool-worker.ts');
