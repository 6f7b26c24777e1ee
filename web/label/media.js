// Where the browser fetches an object's media from. URLs (http:, https:, data:) are used as
// they are; anything else is a path on the server, served by GET /api/tasks/ID/media/FIELD
// when it lies under the server's media root (404 otherwise).
export function mediaSrc(taskId, field, value) {
  if (typeof value !== 'string' || !value) return null;
  if (/^(https?:|data:)/i.test(value)) return value;
  if (!field) return null;
  return `/api/tasks/${encodeURIComponent(taskId)}/media/${encodeURIComponent(field)}`;
}
