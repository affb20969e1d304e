// Entry of the public status page (/status): no login and none of the operators' app, so its own small page.
// first: zod must be told before any schema is built (see jitless.ts)
import './jitless.ts';
import { mount } from 'svelte';
import './app.css';
import StatusPage from './pages/StatusPage.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('#app missing from status.html');

export default mount(StatusPage, { target });
