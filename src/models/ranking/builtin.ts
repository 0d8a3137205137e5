/** The built-in priors, in the order the policy search visits them: what the shopper's own purchases say first, then the shop's. */
import './category.js';
import './product.js';
import './popularity.js';
import './trending.js';
import './recency.js';
import './basket.js';
import './copurchase.js';
