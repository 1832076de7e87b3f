import { runSuite } from '../helpers/suites.js'

await runSuite('plugins')
