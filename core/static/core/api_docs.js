// Starts Swagger UI on the filtered OpenAPI document; no inline script (CSP).
(function () {
  "use strict";
  var node = document.getElementById("swagger-ui");
  window.SwaggerUIBundle({ url: node.getAttribute("data-spec"), dom_id: "#swagger-ui", deepLinking: true });
})();
