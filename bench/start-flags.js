// The node flags `npm start` gives Gatehouse, so the benches start it alike.
import { readFileSync } from 'node:fs'

export function startFlags () {
  const startScript = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).scripts.start
  const flags = /\bnode ((?:--[^\s=]+=\S+ |--[^\s=]+ )*)dist\/src\/server\/server\.js/.exec(startScript)?.[1].trim().split(' ').filter(Boolean)
  if (flags === undefined) throw new Error(`package.json's start script must be \`node [--flag[=value] ...] dist/src/server/server.js\` for the bench to start Gatehouse alike: ${startScript}`)
  return flags
}
