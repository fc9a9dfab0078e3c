// The GraphQL page's only script: sends the operation with the token in a header (never a cookie).
const form = document.getElementById('explorer');
const token = document.getElementById('token');
const result = document.getElementById('result');
const status = document.getElementById('status');

token.value = sessionStorage.getItem('tributary.token') ?? '';

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  sessionStorage.setItem('tributary.token', token.value);
  let variables;
  try {
    variables = JSON.parse(form.variables.value || '{}');
  } catch (e) {
    status.textContent = '';
    result.textContent = `Variables are not JSON: ${e.message}`;
    return;
  }
  status.textContent = '…';
  try {
    const res = await fetch(location.pathname, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', authorization: `Bearer ${token.value.trim()}` },
      body: JSON.stringify({ query: form.query.value, variables }),
    });
    status.textContent = `HTTP ${res.status}`;
    const text = await res.text();
    try {
      result.textContent = JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      result.textContent = text;
    }
  } catch (e) {
    status.textContent = '';
    result.textContent = `Request failed: ${e.message}`;
  }
});
