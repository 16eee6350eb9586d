// Swagger UI from the vendored swagger-ui-dist, with the settings the page carries and
// the CSRF token for calls made with the signed-in session.
(function () {
  const token = document.body.dataset.csrfToken;
  const config = JSON.parse(document.getElementById("swagger-settings").textContent);
  config.dom_id = "#swagger-ui";
  config.presets = [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset];
  if (token) {
    config.requestInterceptor = (req) => { req.headers["X-CSRFToken"] = token; return req; };
  }
  window.ui = SwaggerUIBundle(config);
})();
