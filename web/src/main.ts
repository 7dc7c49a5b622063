import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { app, start } from './lib/app.svelte.ts';

mount(App, { target: document.getElementById('app')! });
start().catch(() => {
  app.problem = { code: 'E_INTERNAL', message: 'The light node did not start; reload the page' };
});
