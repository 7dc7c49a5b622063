// What a Vite `?url` import gives: the URL the bundler serves the file from.
declare module '*.wasm?url' {
  const url: string;
  export default url;
}
