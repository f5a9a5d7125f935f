/** The chat's integration tests: the project's template, and the runtime and clients of local/test/helpers.ts. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export {
  Client,
  type Closed,
  connect,
  connectWithId,
  eventually,
  FIXTURE_TEMPLATE,
  keptEvent,
  refusal,
  startRuntime,
  storeClient,
} from '../../local/test/helpers';

const here = dirname(fileURLToPath(import.meta.url));
export const PROJECT_TEMPLATE = join(here, '..', '..', 'template.yaml');

/**
 * The limits per identity lifted, for the project's template: every test client comes from
 * 127.0.0.1, where on AWS as many people would come from as many addresses. The tests of those
 * limits (chat-limits.test.ts) set them again.
 */
export const ONE_ADDRESS_FOR_ALL = {
  CONNECT_RATE_LIMIT: '100000',
  IDENTITY_MESSAGE_RATE_LIMIT: '100000',
  IDENTITY_REQUEST_RATE_LIMIT: '100000',
};
