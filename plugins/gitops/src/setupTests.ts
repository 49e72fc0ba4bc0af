import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// findBy*/waitFor give up after 1 s by default: too short for a render on a loaded
// 2-core machine running suites side by side. They return as soon as the thing is there.
configure({ asyncUtilTimeout: 15_000 });
