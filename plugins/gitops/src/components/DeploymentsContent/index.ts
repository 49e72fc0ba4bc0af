export { DeploymentsContent } from './DeploymentsContent';
export { isGitopsAvailable } from './isGitopsAvailable';
