import { defineConfig } from 'vitest/config';

// One Vite config for the repository: it will build and serve web/ (the dashboard issue) and it
// holds the unit/property test settings, so there is one place to look.
export default defineConfig({
  test: {
    include: ['{core,wasm-prover,worker,web,extension,sel4-bridge}/test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 30_000,
    pool: 'forks',
  },
});
