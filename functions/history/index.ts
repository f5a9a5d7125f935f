import { hello } from "chat-core"; export const handler = async () => ({ statusCode: 200, body: hello() });
