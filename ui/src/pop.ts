import { mount } from 'svelte';
import './lib/styles.css';
import Pop from './Pop.svelte';

export default mount(Pop, { target: document.getElementById('app')! });
