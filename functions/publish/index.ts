import { backendHandler, parsePublishRequest, publishMessage } from 'chat-core';

/**
 * POST /messages of the backend API (IAM-authorised): a server's message into a room,
 * `{"room", "text", "name"?, "id"?}`, stored and fanned out as a person's would be, marked
 * `backend: true` (chat-core publish.ts). Answers `{"message", "repeat"}`; a repeat of an `id`
 * stores and sends nothing new and answers the original.
 */
export const handler = backendHandler(async ({ body, caller }, context) => publishMessage(parsePublishRequest(body), caller, context));
