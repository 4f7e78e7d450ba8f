// Rebuilds the committed WebAssembly kernels from their AssemblyScript sources in wasm/ (npm run build:wasm).
// Each module imports the tfjs wasm backend's shared memory and works in place (src/backend/heap-module.ts).
import { execFileSync } from 'node:child_process';

const modules = [
  ['wasm/batch-norm.ts', 'src/speed/batch-norm-kernel.wasm'],
  ['wasm/kernels.ts', 'src/backend/kernels.wasm'],
];
const flags = ['-O3', '--runtime', 'stub', '--enable', 'simd', '--enable', 'threads', '--noAssert', '--use', 'abort=',
  '--importMemory', '--sharedMemory', '--initialMemory', '1', '--maximumMemory', '65536'];
for (const [source, out] of modules) {
  execFileSync('npx', ['--yes', '-p', 'assemblyscript@0.28.20', 'asc', source, ...flags, '-o', out], { stdio: 'inherit' });
  console.log(`${source} -> ${out}`);
}
