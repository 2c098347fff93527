import { mount } from 'svelte';
import './lib/styles.css';
import Pop from './Pop.svelte';
import { applyTheme } from './lib/theme';

// Follow the OS until the settings say otherwise (no light flash on a dark desktop).
applyTheme('system');

export default mount(Pop, { target: document.getElementById('app')! });
