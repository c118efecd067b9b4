// Tigris Daily Monitor: hides the cookie banner once a choice is made.
document.addEventListener('click', function (ev) {
  if (ev.target.closest('.cookie-banner .btn')) {
    document.getElementById('cookie-consent').style.display = 'none';
  }
});
