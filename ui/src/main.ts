import { mount } from 'svelte';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('#app missing from index.html');

// Decided before the operators' app is imported: its router rewrites the URL to its own routes as it loads. The public
// status page needs no login and none of that app, so it is its own chunk.
const page = location.pathname === '/status' || location.pathname === '/status/' ? import('./pages/StatusPage.svelte') : import('./App.svelte');

export default page.then((m) => mount(m.default, { target }));
