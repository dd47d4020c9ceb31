// Vite's `?url` imports: the URL the asset is served at.
declare module '*?url' {
  const url: string
  export default url
}
