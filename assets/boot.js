// Starts the admin UI. A file rather than an inline script, so the admin origin's
// Content-Security-Policy can forbid inline scripts.
import init from '/{{JS}}';
await init({ module_or_path: '/{{WASM}}' });
