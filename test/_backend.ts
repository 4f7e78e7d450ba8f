// Imported first by test files so the whole suite runs on the backend a user would get here
// (wasm on this machine; YOLO4_BACKEND overrides), with our gradient kernels registered.
import { selectBackend, type BackendChoice } from '../src/backend/select.ts';

await selectBackend((process.env.YOLO4_BACKEND as BackendChoice | undefined) || 'auto', { quiet: true });
