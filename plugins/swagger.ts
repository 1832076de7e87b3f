import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import fp from 'fastify-plugin'

export default fp(async function swaggerPlugin (app) {
  await app.register(swagger, {
    openapi: {
      info: { title: 'Gatehouse', description: 'Token authentication server', version: '0.1.0' },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } }
      }
    }
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
}, { name: 'swagger' })
