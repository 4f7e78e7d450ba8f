// Entry of the sample worker threads (see sample-pool.ts). The project runs TypeScript through tsx
// without a build step; a worker does not inherit a loader registered with tsx's API in the main
// thread, so it registers one itself, then loads the TypeScript worker.
import { register } from 'tsx/esm/api';

register();
await import('./sample-worker.ts');
