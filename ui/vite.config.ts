/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { resolve } from 'node:path';

const root = import.meta.dirname;

export default defineConfig({
  plugins: [svelte()],
  // Tauri loads the pages from its own protocol: keep every asset path relative.
  base: './',
  clearScreen: false,
  server: { port: 1420, strictPort: true },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // Small bundles: no inline <script> (strict CSP `script-src 'self'`).
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    rollupOptions: {
      input: {
        main: resolve(root, 'index.html'),
        pop: resolve(root, 'pop.html'),
      },
      output: {
        // What both pages share (Svelte runtime, Tauri API, lib/, small components)
        // goes into one `common` chunk; each page keeps only its own views.
        manualChunks(id) {
          if (
            id.includes('/node_modules/') ||
            /\/src\/lib\/(?!components\/)/.test(id) ||
            /\/src\/lib\/components\/(OutcomeBadge|DirectionIcon)\.svelte/.test(id)
          ) {
            return 'common';
          }
        },
      },
    },
  },
  resolve: process.env.VITEST ? { conditions: ['browser'] } : undefined,
  test: {
    environment: 'jsdom',
    include: ['tests/**/*.test.ts'],
    setupFiles: ['tests/setup.ts'],
    restoreMocks: true,
  },
});
