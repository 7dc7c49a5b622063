/** The tag on window messages between the page provider and the content script (both bundle this). */
export const PAGE_CHANNEL = 'cipherclerk';
