// type-graphql reads decorator metadata through reflect-metadata; load it before any test
// imports a resolver.
import 'reflect-metadata';
