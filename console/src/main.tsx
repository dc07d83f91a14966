/** Entry of the console's web build: mounts the app shell (./app.tsx) on `#root`. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app.tsx';
import './styles.css';

const root = document.getElementById('root');
if (root === null) throw new Error('console: no #root element');
createRoot(root).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
